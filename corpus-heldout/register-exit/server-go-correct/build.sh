#!/bin/sh
# Rebuilds the server binary next to this script.
cd "$(dirname "$0")" && go build -o server .
