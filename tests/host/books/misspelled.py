from kognitos_books import Book, hookimpl


@hookimpl
def describe_book():
    return Book(name="misspelled", title="Misspelled", target="typo", credentials=(), nouns=())


@hookimpl
def conect(credentials, settings):
    return None
