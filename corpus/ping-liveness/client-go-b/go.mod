module pingliveness/client

go 1.19
