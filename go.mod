module github.com/tcpwatch/tcpwatch

go 1.26.8
