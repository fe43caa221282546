module pxe-desk/native-tftp

go 1.19
