module libromind-bench-shop

go 1.22
