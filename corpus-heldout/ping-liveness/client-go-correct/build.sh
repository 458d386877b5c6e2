#!/bin/sh
# Rebuilds ./pingclient from main.go (standard library only).
cd "$(dirname "$0")" && go build -o pingclient main.go
