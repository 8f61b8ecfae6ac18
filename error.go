package dbtrust

import (
	"errors"
	"fmt"
)

// Code classifies an Error. Every dialect maps every Code to its own wire shape.
type Code string

const (
	Invalid            Code = "invalid"             // the request is malformed or fails validation
	NotFound           Code = "not_found"           // no such resource, or not the caller's
	Conflict           Code = "conflict"            // a uniqueness or state rule forbids the change
	Unauthorized       Code = "unauthorized"        // no credentials, or credentials that do not check out
	Forbidden          Code = "forbidden"           // authenticated, but the role does not allow it
	PreconditionFailed Code = "precondition_failed" // a conditional request's condition does not hold
	TooLarge           Code = "too_large"           // the request body is over the limit
	RateLimited        Code = "rate_limited"        // the caller sent too many requests
	Unavailable        Code = "unavailable"         // a dependency (the store) cannot be reached now
	Internal           Code = "internal"            // a bug or an unexpected failure
)

// Codes lists every Code; dialect tests check that each has a row in their table.
var Codes = []Code{Invalid, NotFound, Conflict, Unauthorized, Forbidden, PreconditionFailed, TooLarge, RateLimited, Unavailable, Internal}

// Error is the one application error. Message is safe to send to a client; Err is
// for the log only and is never sent.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an Invalid error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code and message that keeps err for the log.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Taken rewords a store's Conflict (a uniqueness rule: the store's message
// is only "already exists") as what is taken and what to do, keeping the
// store's error for the log. Other errors pass unchanged.
func Taken(err error, format string, args ...any) error {
	if ErrorCode(err) != Conflict {
		return err
	}
	return &Error{Code: Conflict, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the Code of err: Internal for any error that is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return Internal
}

// ErrorMessage returns the client-safe message of err; a generic text for errors
// that are not an *Error, so that internals never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the offending input field of err, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
