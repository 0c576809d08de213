from .command import process_main

process_main()
