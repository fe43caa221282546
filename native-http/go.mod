module pxe-desk/native-http

go 1.19
