module github.com/gokinde/kinde/echo

go 1.26

require github.com/gokinde/kinde/core v0.0.0

replace github.com/gokinde/kinde/core => ../core
