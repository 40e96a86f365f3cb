import pv2simkl.providers.imdb as t
t._text = lambda v: v.strip() if v else None
from test_shapes import test_any_json_answer_raises_nothing_but_provider_errors  # noqa
