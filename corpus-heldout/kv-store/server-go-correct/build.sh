#!/bin/sh
# Rebuilds ./kvstore from main.go (Go standard library only).
cd "$(dirname "$0")" && go build -o kvstore main.go
