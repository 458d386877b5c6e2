module reserver

go 1.19
