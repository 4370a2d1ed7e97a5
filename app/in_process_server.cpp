// in_process_server.cpp: serve's parts (app/serve_command.hpp) started on the runner's threads.
#include "app/in_process_server.hpp"

#include <algorithm>
#include <stdexcept>

#include "app/serve_command.hpp"
#include "engine/server.hpp"

namespace streambed::app {
namespace {

class InProcessServer : public runner::ServerHandle {
  public:
    InProcessServer(const std::vector<std::string>& args, std::uint16_t port) {
        CLI::App cli("serve");
        add_serve_options(&cli, args_);
        std::vector<std::string> argv = {"--port", std::to_string(port)};
        argv.insert(argv.end(), args.begin(), args.end());
        std::reverse(argv.begin(), argv.end());  // CLI11 takes a vector back to front
        try {
            cli.parse(argv);
        } catch (const CLI::ParseError& e) {
            throw std::runtime_error(std::string("serve options: ") + e.what());
        }
        std::string error;
        auto parts = prepare_serve(args_, error);
        if (!parts) throw std::runtime_error(error);
        parts_ = std::move(*parts);
        apply_durations(args_.server);  // as run_server does for serve
        if (args_.server.options.web_root.empty())
            args_.server.options.web_root = default_web_root();
        server_ = std::make_unique<engine::Server>(args_.server.options);
        if (parts_.recording) server_->set_tap(parts_.recording.get());
        // As serve does: the world caught up before the first client is let in.
        server_->start(/*accept=*/false);
        parts_.source->start(server_->publisher());
        server_->accept_connections();
    }
    ~InProcessServer() override { stop(); }

    std::uint16_t port() const override { return server_ ? server_->port() : 0; }
    int pid() const override { return 0; }

    void stop() override {
        if (!server_) return;
        parts_.source->stop();
        server_->shutdown();
        finish();
    }

    void kill() override {
        if (!server_) return;
        parts_.source->stop();
        server_->abort();
        finish();
    }

  private:
    void finish() {
        server_.reset();  // every socket closes here
        if (parts_.recording) parts_.recording->finish();
        parts_.recording.reset();
    }

    ServeArgs args_;
    ServeParts parts_;
    std::unique_ptr<engine::Server> server_;
};

}  // namespace

runner::ServerFactory in_process_server() {
    return [](const std::vector<std::string>& args,
              std::uint16_t port) -> std::unique_ptr<runner::ServerHandle> {
        return std::make_unique<InProcessServer>(args, port);
    };
}

}  // namespace streambed::app
