#!/bin/sh
# Rebuilds ./shclient from main.go (standard library only).
cd "$(dirname "$0")" && go build -o shclient main.go
