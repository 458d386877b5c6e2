package main

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// The seed's framing has no length prefix: one serialized message per write.
// Writes that follow each other closely can arrive in one read, and a big one
// can arrive in two.  Every protobuf runtime writes the fields of a message in
// field-number order, so a field whose number is not larger than the previous
// one starts the next message.  splitMessages returns the complete messages at
// the front of buf and how many bytes they used; a message whose last field is
// cut off stays in buf for the next read.
func splitMessages(buf []byte) (msgs [][]byte, used int, err error) {
	start, pos := 0, 0
	var last protowire.Number
	truncated := false
	for pos < len(buf) {
		num, typ, n := protowire.ConsumeTag(buf[pos:])
		if n == -1 {
			truncated = true
			break
		}
		if n < 0 {
			return nil, 0, errors.New("garbled field tag")
		}
		m := protowire.ConsumeFieldValue(num, typ, buf[pos+n:])
		if m == -1 {
			truncated = true
			break
		}
		if m < 0 {
			return nil, 0, errors.New("garbled field value")
		}
		if num <= last && pos > start {
			msgs = append(msgs, buf[start:pos])
			start = pos
		}
		last = num
		pos += n + m
	}
	if !truncated && pos > start {
		msgs = append(msgs, buf[start:pos])
		start = pos
	}
	return msgs, start, nil
}
