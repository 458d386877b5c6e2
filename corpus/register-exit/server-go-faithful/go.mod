module distsysmp2

go 1.19
