#
# NOTE: THIS DOCKERFILE IS GENERATED VIA "apply-templates.sh"
#
# PLEASE DO NOT EDIT IT DIRECTLY.
#

FROM debian:bookworm-slim

RUN set -eux; \
	apt-get update; \
	apt-get install -y ca-certificates curl

RUN set -eux; \
	curl -fsSL -o /tmp/app.tar.gz https://example.com/app.tar.gz; \
	tar -xzf /tmp/app.tar.gz -C /usr/local

CMD ["app"]
