module reclient

go 1.19
