module pxe-desk/native-helper

go 1.19
