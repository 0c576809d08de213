FROM alpine:3.20
RUN apk add --no-cache --virtual .build-deps gcc musl-dev
RUN apk add --no-cache curl
