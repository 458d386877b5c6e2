module imserver

go 1.19
