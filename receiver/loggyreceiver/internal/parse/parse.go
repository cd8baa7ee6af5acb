// Package parse decodes the lines of container log files written by
// container runtimes (CRI text format and docker json-file), joins the
// lines a runtime split, and reads a severity out of a message.
//
// It runs once per log line, so it avoids encoding/json, reflection and
// regular expressions, and reuses scratch buffers: parsing a well-formed
// line does not allocate.
package parse

import (
	"errors"
	"fmt"
)

// Stream is the output stream a line was written to.
type Stream uint8

const (
	StreamUnknown Stream = iota
	Stdout
	Stderr
)

// String returns "stdout", "stderr", or "" for an unknown stream.
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return ""
}

// Format is the on-disk format of a container log file.
type Format uint8

const (
	// Auto detects the format per line: a line starting with '{' is docker
	// json-file, anything else CRI. CRI lines start with a digit, so this
	// never guesses wrong on well-formed input.
	Auto Format = iota
	Docker
	CRI
)

// ParseFormat parses a configuration value: "auto", "docker" or "cri".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "auto":
		return Auto, nil
	case "docker":
		return Docker, nil
	case "cri":
		return CRI, nil
	}
	return Auto, fmt.Errorf("unknown log format %q (want auto, docker or cri)", s)
}

// Line is one physical line of a container log file after decoding.
type Line struct {
	Time    int64 // unix nanoseconds given by the runtime; 0 if absent
	Stream  Stream
	Partial bool   // the runtime split a long line here; more parts follow (CRI tag P; docker "log" without trailing "\n")
	Body    []byte // without the trailing newline; aliases raw or the parser's scratch; valid until the next Parse call
}

// Parser decodes lines of one format. It keeps scratch buffers, so it is
// not safe for concurrent use; use one per file.
type Parser struct {
	format Format
	buf    []byte // decoded docker "log" value
	aux    []byte // decoded keys and other string values, dropped right after use
}

// NewParser returns a parser for format f.
func NewParser(f Format) *Parser {
	return &Parser{format: f}
}

// Parse decodes one raw line, given without its trailing '\n'. On failure the
// error text names the format and what was wrong; the caller is expected to
// deliver the raw line as is.
func (p *Parser) Parse(raw []byte) (Line, error) {
	switch p.format {
	case Docker:
		return p.parseDocker(raw)
	case CRI:
		return parseCRI(raw)
	}
	if len(raw) > 0 && raw[0] == '{' {
		return p.parseDocker(raw)
	}
	return parseCRI(raw)
}

// newErr is errors.New; named so sentinel declarations read as a table.
var newErr = errors.New
