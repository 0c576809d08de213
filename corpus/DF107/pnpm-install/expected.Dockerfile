FROM node:20-slim
ENV PNPM_HOME=/pnpm
RUN corepack enable
WORKDIR /app
COPY package.json pnpm-lock.yaml ./
RUN --mount=type=cache,target=/pnpm/store --mount=type=cache,target=/root/.cache/pnpm pnpm install --frozen-lockfile --prod
COPY . .
CMD ["node", "index.js"]
