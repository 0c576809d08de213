FROM php:8.3-fpm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmemcached-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
RUN pecl install memcached-3.2.0 \
    && docker-php-ext-enable memcached \
    && rm -rf /tmp/pear
