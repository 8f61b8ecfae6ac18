package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// importOut is what instance import reports.
type importOut struct {
	Imported  int     `json:"imported"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

func newInstanceImportCmd(a *app) *cobra.Command {
	var file string
	var batch int
	cmd := &cobra.Command{
		Use:   "import --file FILE|-",
		Short: "Create many instances at once from a JSON array or NDJSON file (bulk onboarding)",
		Long: `Create many instances at once, each as 'instance create' would make it, from a file of the
bodies POST /v1/instances takes ({"name": "orders", "engine": "pg", "tags": ["prod"]}, ...): a JSON
array, or one object per line (NDJSON); --file - reads stdin. The instances are sent in batches of
--batch (at most 1000); each batch is created in one transaction, with one audit event per instance,
or not at all: a bad item or a name already taken refuses its batch, naming the item, and the
import stops there (the batches before it stay imported). CA keys are made on every core.`,
		Args: noArgs,
		RunE: a.onBackend(func(ctx context.Context, b backend, args []string) error {
			if file == "" {
				return usageErrorf("name the file to import with --file FILE, or --file - for stdin")
			}
			if batch < 1 || batch > client.MaxImport {
				return usageErrorf("--batch must be between 1 and %d", client.MaxImport)
			}
			in, closeIn, err := a.openInput(file)
			if err != nil {
				return err
			}
			defer closeIn()
			out, err := importInstances(ctx, b, in, batch, a.cfg.CAKeyType)
			if err != nil {
				return err
			}
			return a.print(out, func(t *table) {
				t.field("imported", fmt.Sprintf("%d instances in %.1fs (%.0f per second)", out.Imported, out.Seconds, out.PerSecond))
			})
		}),
	}
	cmd.Flags().StringVar(&file, "file", "", "the JSON array or NDJSON file of instances to create; - for stdin")
	cmd.Flags().IntVar(&batch, "batch", client.MaxImport, "instances per request and transaction (1 to 1000)")
	return cmd
}

// openInput opens file, or stdin for "-".
func (a *app) openInput(file string) (io.Reader, func(), error) {
	if file == "-" {
		return a.stdin, func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, usageErrorf("--file: %v", err)
	}
	return f, func() { f.Close() }, nil
}

// importInstances reads specs from in and imports them in batches of size;
// keyType, when set, is the CA key type of items that name none.
func importInstances(ctx context.Context, b backend, in io.Reader, size int, keyType string) (importOut, error) {
	start := time.Now()
	next, err := specReader(in)
	if err != nil {
		return importOut{}, err
	}
	done := 0
	for {
		reqs, err := next(size)
		if err != nil {
			return importOut{}, fmt.Errorf("%d instances imported before item %d of the file: %w", done, done+len(reqs), err)
		}
		if len(reqs) == 0 {
			break
		}
		for i := range reqs {
			if reqs[i].CAKeyType == "" {
				reqs[i].CAKeyType = keyType
			}
		}
		if err := importBatch(ctx, b, reqs); err != nil {
			return importOut{}, batchError(err, done, len(reqs))
		}
		done += len(reqs)
	}
	secs := time.Since(start).Seconds()
	return importOut{Imported: done, Seconds: secs, PerSecond: float64(done) / secs}, nil
}

// importBatch imports one batch. A batch refused as Unavailable (a busy
// store, the server's request timeout) wrote nothing, and is sent again, up
// to three times.
func importBatch(ctx context.Context, b backend, reqs []client.CreateInstanceRequest) error {
	for try := 1; ; try++ {
		_, err := b.ImportInstances(ctx, reqs)
		if dbtrust.ErrorCode(err) != dbtrust.Unavailable || try == 3 || ctx.Err() != nil {
			return err
		}
	}
}

// batchError says which batch of the file was refused: its items are
// numbered from 0 within it, as the server names them.
func batchError(err error, done, n int) error {
	msg := fmt.Sprintf("%d instances imported; the batch of items %d to %d of the file (items[0] to items[%d] below) was refused and nothing of it was written: %s",
		done, done, done+n-1, n-1, dbtrust.ErrorMessage(err))
	return &dbtrust.Error{Code: dbtrust.ErrorCode(err), Message: msg, Err: err}
}

// specReader returns a function that reads at most n more items of a JSON
// array or of NDJSON (told apart by the first character), unknown fields
// refused; none at the end.
func specReader(in io.Reader) (func(n int) ([]client.CreateInstanceRequest, error), error) {
	br := bufio.NewReaderSize(in, 1<<20)
	first, err := peekNonSpace(br)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	inArray := first == '['
	if inArray {
		dec.Token() // the '['
	}
	return func(n int) ([]client.CreateInstanceRequest, error) {
		var out []client.CreateInstanceRequest
		for len(out) < n && dec.More() {
			var r client.CreateInstanceRequest
			if err := dec.Decode(&r); err != nil {
				return out, usageErrorf("the file is not a JSON array or NDJSON of instances: %v", err)
			}
			out = append(out, r)
		}
		return out, nil
	}, nil
}

// peekNonSpace skips white space and returns the next byte, unread; 0 for
// an empty input.
func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, usageErrorf("--file: %v", err)
		}
		if !bytes.ContainsRune([]byte(" \t\r\n"), rune(c)) {
			return c, br.UnreadByte()
		}
	}
}
