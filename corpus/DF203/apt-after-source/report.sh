#!/bin/sh
python3 -c "print(42)"
