package main

// sendto(2) on i386 since Linux 4.3; package syscall's table for 386 predates it (socketcall only).
const sysSendto = 369
