package redistest

import "syscall"

var terminate = syscall.SIGTERM

// The server dies with the test binary even if the test is killed before its cleanup runs.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
