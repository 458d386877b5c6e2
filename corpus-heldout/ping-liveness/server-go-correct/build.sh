#!/bin/sh
# Rebuilds ./pingserver from main.go (standard library only).
cd "$(dirname "$0")" && go build -o pingserver main.go
