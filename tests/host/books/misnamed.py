from kognitos_books import Book, hookimpl


@hookimpl
def describe_book():
    return Book(name="somebody_else", title="Misnamed", target="who", credentials=(), nouns=())
