package native

import "github.com/dbtrust/dbtrust"

// WriteErrorForTest exposes writeError to the external tests.
var WriteErrorForTest = writeError

// ErrorTableHasRow reports whether the error table maps c.
func ErrorTableHasRow(c dbtrust.Code) bool { _, ok := errorTable[c]; return ok }
