module imchat

go 1.19
