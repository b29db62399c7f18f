//go:build !linux

package main

import (
	"errors"
	"time"
)

func rawConns(string, int, time.Duration, uint64) (uint64, error) {
	return 0, errors.New("raw frames need Linux (AF_PACKET)")
}
