package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/client"
)

func newCertCmd(a *app) *cobra.Command {
	cmd := group("cert", "Server certificates of an instance: issue, list, revoke", "certs")
	cmd.AddCommand(newCertIssueCmd(a), newCertListCmd(a), newCertRevokeCmd(a))
	return cmd
}

// issueFiles are where cert issue writes what it got.
type issueFiles struct {
	cert, key, ca string
	csr           string
	force         bool
}

// check refuses, before anything is issued, a generated key with nowhere to
// go and files that exist without --force.
func (f issueFiles) check() error {
	if f.csr == "" && f.key == "" {
		return usageErrorf("cert issue generates a private key: say where to write it with --key-out FILE (--key-out - for standard output), or keep the node's key and send its request with --csr FILE")
	}
	if f.csr != "" && f.key != "" {
		return usageErrorf("--key-out goes with a generated key, not with --csr: the node keeps its own key")
	}
	for _, p := range []string{f.cert, f.key, f.ca} {
		if err := checkWritable(p, f.force); err != nil {
			return err
		}
	}
	return nil
}

func newCertIssueCmd(a *app) *cobra.Command {
	var req client.IssueRequest
	var files issueFiles
	cmd := &cobra.Command{
		Use:   "issue INSTANCE --key-out FILE | --csr FILE [--dns NAME] [--ip ADDR] [--cert-out FILE] [--ca-out FILE]",
		Short: "Issue a server certificate from the instance's current CA (a key generated for you, or from a CSR)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := files.check(); err != nil {
				return err
			}
			if files.csr != "" {
				b, err := os.ReadFile(files.csr)
				if err != nil {
					return usageErrorf("--csr: %v", err)
				}
				req.CSR = string(b)
			}
			b, done, err := a.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			inst, err := instance(cmd.Context(), b, args[0])
			if err != nil {
				return err
			}
			c, err := b.Issue(cmd.Context(), inst.ID, req)
			if err != nil {
				return err
			}
			var bundle []byte
			if files.ca != "" {
				if bundle, err = b.Bundle(cmd.Context(), inst.ID); err != nil {
					return err
				}
			}
			return a.writeIssued(c, bundle, files)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&req.DNSNames, "dns", nil, "DNS name (repeatable, or comma-separated; default: the instance's host name)")
	f.StringSliceVar(&req.IPs, "ip", nil, "IP address (repeatable, or comma-separated)")
	f.StringVar(&req.CommonName, "cn", "", "common name (default: the first DNS name or IP)")
	f.StringVar(&files.csr, "csr", "", "PEM certificate request file: the node keeps its key")
	f.StringVar(&req.KeyType, "key-type", "", "without --csr: key type to generate (ecdsa-p256 default, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096)")
	f.StringVar(&req.TTL, "ttl", "", "lifetime, e.g. 2160h (default 90 days; capped at the CA's expiry)")
	f.BoolVar(&req.ClientAuth, "client", false, "allow client authentication too")
	f.StringVar(&files.cert, "cert-out", "", "write the certificate (PEM) to this file (default: print it)")
	f.StringVar(&files.key, "key-out", "", "write the generated private key (PEM, mode 0600) to this file; - prints it")
	f.StringVar(&files.ca, "ca-out", "", "write the instance's CA bundle (PEM) to this file")
	f.BoolVar(&files.force, "force", false, "replace files that exist")
	return cmd
}

// writeIssued writes the issued certificate, key and bundle where asked,
// then prints what was issued.
func (a *app) writeIssued(c client.Certificate, bundle []byte, files issueFiles) error {
	for _, w := range []struct {
		path string
		data string
		mode os.FileMode
	}{{files.cert, c.CertificatePEM, 0o644}, {files.key, c.PrivateKeyPEM, 0o600}, {files.ca, string(bundle), 0o644}} {
		if w.path == "" || w.path == "-" || w.data == "" {
			continue
		}
		if err := a.writeFile(w.path, []byte(w.data), w.mode); err != nil {
			return err
		}
	}
	out := c
	if files.key != "-" {
		out.PrivateKeyPEM = "" // written to its file, never printed
	}
	return a.print(out, func(t *table) {
		t.field("serial", c.Serial)
		t.field("names", strings.Join(append(append([]string{}, c.DNSNames...), c.IPs...), ","))
		t.field("key", c.KeyType)
		t.field("sha256", c.Fingerprint)
		t.field("valid", c.NotBefore+" to "+c.NotAfter)
		t.field("ca", c.CAID)
		if files.cert != "" && files.cert != "-" {
			t.field("certificate", files.cert)
		}
		if files.key != "" && files.key != "-" && c.PrivateKeyPEM != "" {
			t.field("private key", files.key+" (mode 0600; dbtrust keeps no copy)")
		}
		if files.ca != "" && files.ca != "-" {
			t.field("ca bundle", files.ca)
		}
		if files.cert == "" || files.cert == "-" {
			fmt.Fprint(t.w, "\n", c.CertificatePEM)
		}
		if files.key == "-" {
			fmt.Fprint(t.w, c.PrivateKeyPEM)
		}
		if files.ca == "-" {
			fmt.Fprint(t.w, string(bundle))
		}
	})
}

func newCertListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list INSTANCE",
		Short: "List the instance's certificates: serial, state, names, fingerprint, expiry, issuing CA",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			list, err := b.ListCertificates(ctx, inst.ID)
			if err != nil {
				return err
			}
			return a.print(client.CertificateList{Certificates: list}, func(t *table) {
				t.header("SERIAL", "STATE", "NAMES", "KEY", "SHA256", "NOT AFTER", "CA")
				for _, c := range list {
					t.row(c.Serial, c.State, strings.Join(append(append([]string{}, c.DNSNames...), c.IPs...), ","), c.KeyType, c.Fingerprint, c.NotAfter, c.CAID)
				}
			})
		}),
	}
}

func newCertRevokeCmd(a *app) *cobra.Command {
	var reason string
	var yes bool
	cmd := &cobra.Command{
		Use:   "revoke INSTANCE SERIAL [--reason R]",
		Short: "Revoke a certificate (by serial or unique serial prefix); it goes into its CA's CRL",
		Args:  exactArgs(2),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			cert, err := certificate(ctx, b, inst, args[0])
			if err != nil {
				return err
			}
			if err := a.confirm(yes, "revoke certificate "+cert.Serial+" of "+inst.Name); err != nil {
				return err
			}
			c, err := b.Revoke(ctx, inst.ID, cert.Serial, reason)
			if err != nil {
				return err
			}
			return a.print(c, func(t *table) {
				t.field("revoked", c.Serial+" ("+c.RevocationReason+") at "+c.RevokedAt)
				t.field("crl", "it is in the CRL of CA "+c.CAID)
			})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "unspecified, key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation or privilege_withdrawn")
	addYes(cmd, &yes)
	return cmd
}
