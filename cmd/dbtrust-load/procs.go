package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// proc is a server this tool started: its URL and what it printed.
type proc struct {
	cmd     *exec.Cmd
	URL     string
	Token   string // dbtrust's owner token, on its first start
	Account string // the account's ID dbtrust prints
}

// pinned returns the command line that runs argv on the server's core.
func pinned(cpu int, argv ...string) []string {
	if cpu < 0 {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
}

// serverCPU decides the core to pin the servers to: the flag, or the last
// core when there are two or more and taskset is installed; -1 for none.
func serverCPU(flagCPU int) int {
	if flagCPU >= -1 {
		return flagCPU
	}
	if _, err := exec.LookPath("taskset"); err != nil || runtime.NumCPU() < 2 {
		return -1
	}
	return runtime.NumCPU() - 1
}

// start runs argv with env, its stderr into logPath, and reads its stdout
// until ready returns true for a line (or 30 s pass).
func start(ctx context.Context, argv, env []string, logPath string, ready func(p *proc, line string) bool) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Stderr = env, logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", argv[0], err)
	}
	p := &proc{cmd: cmd}
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && ready(p, sc.Text()) {
				ok = true
				done <- true
			}
		}
		if !ok {
			done <- false
		}
	}()
	select {
	case ok := <-done:
		if ok {
			return p, nil
		}
	case <-time.After(30 * time.Second):
	}
	p.stop()
	return nil, fmt.Errorf("%s did not start: see its log in %s", argv[0], logPath)
}

// stop ends the process this tool started and waits for it.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	t := time.AfterFunc(10*time.Second, func() { _ = p.cmd.Process.Kill() })
	_ = p.cmd.Wait()
	t.Stop()
}

// cpuTime is the CPU time the process has used so far. taskset execs its
// command, so the PID is the server's.
func (p *proc) cpuTime() time.Duration { return procCPU(p.cmd.Process.Pid) }

// procCPU is the CPU time (user + system) process pid has used so far, from
// /proc; 0 where there is no /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// rssMB is the process's resident memory in MB, from /proc; 0 where unknown.
func (p *proc) rssMB() int { return p.statusMB("VmRSS:") }

// peakRSSMB is the most resident memory the process has had, in MB (its
// high-water mark, VmHWM); 0 where unknown.
func (p *proc) peakRSSMB() int { return p.statusMB("VmHWM:") }

// statusMB reads a memory figure (in kB) of /proc/PID/status, in MB.
func (p *proc) statusMB(key string) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}

// loadAvg is the 1, 5 and 15-minute load average, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cleanEnv is this process's environment without any DBTRUST_ setting, with
// HOME and the XDG folders in dir, so that no configuration of the machine
// reaches the server under test.
func cleanEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBTRUST_") || k == "HOME" || strings.HasPrefix(k, "XDG_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "XDG_CONFIG_HOME="+dir+"/config", "XDG_DATA_HOME="+dir+"/share")
}

// readAll drains and closes a response body.
func readAll(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, errors.New("reading the answer: " + err.Error())
	}
	return b, nil
}
