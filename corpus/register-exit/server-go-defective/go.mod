module serverGoA

go 1.19
