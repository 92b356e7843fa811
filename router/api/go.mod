module github.com/lookout-sec/lookout/router/api

go 1.26
