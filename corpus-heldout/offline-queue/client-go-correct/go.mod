module oqclient

go 1.19
