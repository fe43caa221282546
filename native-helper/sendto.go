//go:build !386

package main

import "syscall"

const sysSendto = syscall.SYS_SENDTO
