module clientGoA

go 1.19
