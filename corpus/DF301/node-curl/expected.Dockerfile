FROM node:22-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
RUN curl -fsSL -o /srv/ca.pem https://example.invalid/ca.pem
CMD ["node", "server.js"]
