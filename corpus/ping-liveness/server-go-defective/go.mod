module pingliveness/server

go 1.19
