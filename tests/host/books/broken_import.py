raise ImportError("this book needs a module that is not installed")
