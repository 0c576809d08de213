module example.invalid/api

go 1.22
