"""A Redis cache that degrades to "nothing cached" when Redis is unreachable.

Everything the app keeps in the cache can be recomputed from the database (the simulated
clock's offset, the assign menu, notification markers), so a Redis outage must cost speed, not
pages: a read that cannot reach Redis answers the default (a miss, so the caller reads the
database), and a write or delete that cannot reach it is skipped. Each failure is logged; the
readiness endpoint (/readyz) reports Redis as down meanwhile.
"""

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _degrades(default_from_args=None):
    def decorate(method):
        @wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:
                logger.warning("cache unavailable, %s skipped: %s", method.__name__, exc)
                return default_from_args(*args, **kwargs) if default_from_args else None

        return wrapper

    return decorate


def _get_default(key, default=None, version=None):
    return default


class ResilientRedisCache(RedisCache):
    """RedisCache whose reads miss and whose writes are skipped while Redis is unreachable."""

    get = _degrades(_get_default)(RedisCache.get)
    get_many = _degrades(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _degrades(lambda *a, **k: False)(RedisCache.has_key)
    add = _degrades(lambda *a, **k: False)(RedisCache.add)
    set = _degrades()(RedisCache.set)
    set_many = _degrades(lambda *a, **k: [])(RedisCache.set_many)
    touch = _degrades(lambda *a, **k: False)(RedisCache.touch)
    delete = _degrades(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _degrades()(RedisCache.delete_many)
    clear = _degrades(lambda *a, **k: False)(RedisCache.clear)
