package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// usageError is a wrong command line: an unknown command or flag, a missing
// argument, a value that does not parse. It exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// asUsageError makes an error met before any command ran (cobra's own, for
// an unknown command, say) a usage error.
func asUsageError(err error) error {
	var ue *usageError
	if errors.As(err, &ue) || dbtrust.ErrorCode(err) != dbtrust.Internal {
		return err
	}
	return &usageError{msg: err.Error()}
}

// Exit codes, by class of error (the README's table lists them).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitConflict    = 4
	exitPermission  = 5
	exitUnavailable = 6
)

// exitCodes maps each core Code to its exit code; any other error exits 1.
var exitCodes = map[dbtrust.Code]int{
	dbtrust.Invalid:            exitUsage,
	dbtrust.NotFound:           exitNotFound,
	dbtrust.Conflict:           exitConflict,
	dbtrust.PreconditionFailed: exitConflict,
	dbtrust.Unauthorized:       exitPermission,
	dbtrust.Forbidden:          exitPermission,
	dbtrust.Unavailable:        exitUnavailable,
	dbtrust.RateLimited:        exitUnavailable,
	dbtrust.TooLarge:           exitUsage,
	dbtrust.Internal:           exitError,
}

// exitCode is the process exit code for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var de *dbtrust.Error
	if errors.As(err, &de) {
		if c, ok := exitCodes[de.Code]; ok {
			return c
		}
	}
	return exitError
}

// errorCode is the code an error is reported with under -o json.
func errorCode(err error) string {
	var ue *usageError
	if errors.As(err, &ue) {
		return "usage"
	}
	var de *dbtrust.Error
	if errors.As(err, &de) {
		return string(de.Code)
	}
	return "error"
}

// errorMessage says what went wrong in plain words: a core error's safe
// message (never the driver's or library's text it keeps for the log), and
// a hint of what to do next where one is known.
func errorMessage(err error) string {
	var de *dbtrust.Error
	msg := err.Error()
	if errors.As(err, &de) {
		msg = de.Message
		if de.Field != "" && !strings.Contains(msg, de.Field) {
			msg = de.Field + ": " + msg
		}
	}
	if h := client.Hint(err); h != "" {
		msg += ": " + h
	}
	return msg
}

// reportError writes err to stderr: "dbtrust: message" (and its cause with
// -v), or under -o json {"error":{"code","message"}}.
func (a *app) reportError(err error) {
	if a.cfg.Output == "json" {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Field   string `json:"field,omitempty"`
			} `json:"error"`
		}
		body.Error.Code, body.Error.Message, body.Error.Field = errorCode(err), errorMessage(err), dbtrust.ErrorField(err)
		b, _ := json.Marshal(body)
		fmt.Fprintf(a.stderr, "%s\n", b)
		return
	}
	fmt.Fprintf(a.stderr, "dbtrust: %s\n", errorMessage(err))
	var de *dbtrust.Error
	if a.cfg.Verbose && errors.As(err, &de) && de.Err != nil {
		fmt.Fprintf(a.stderr, "cause: %v\n", de.Err)
	}
}

// didYouMean suggests the closest of names to s: within two edits, or
// the one name that s begins.
func didYouMean(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(strings.ToLower(s), strings.ToLower(n))
		if len(s) >= 2 && strings.HasPrefix(n, s) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %q?", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// joinOr joins names as "a, b or c".
func joinOr(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
