FROM ruby:3.3-slim
WORKDIR /app
COPY Gemfile Gemfile.lock ./
RUN bundle install --jobs 4 --retry 3 \
    && rm -rf "$(gem env gemdir)"/cache/*.gem
COPY . .
CMD ["bundle", "exec", "ruby", "app.rb"]
