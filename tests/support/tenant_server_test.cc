#include "support/tenant_server_test.h"

#include <chrono>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "cosmo/manifest.h"

namespace cosmo::testing {

TempDir* TenantServerTest::dir_ = nullptr;
Subprocess* TenantServerTest::server_ = nullptr;
std::string TenantServerTest::address_;
std::shared_ptr<grpc::Channel>* TenantServerTest::channel_ = nullptr;

void TenantServerTest::SetUpTestSuite() {
  dir_ = new TempDir();
  // Comments and extra spaces, as a hand-written tokens file has them.
  std::ofstream(dir_->Sub("tokens")) << "# test tenants\n"
                                     << "alice " << Sha256Hex(kAliceToken) << "\n"
                                     << "bob   " << Sha256Hex(kBobToken) << "  # second\n"
                                     << "gateway " << Sha256Hex(kGatewayToken) << "\n";
  auto server = StartCosmoServer(
      {"--data-dir=" + dir_->Sub("data"), "--auth-tokens-file=" + dir_->Sub("tokens")}, &address_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = server->release();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  channel_ = new std::shared_ptr<grpc::Channel>(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
}

void TenantServerTest::TearDownTestSuite() {
  delete channel_;
  channel_ = nullptr;
  if (server_ != nullptr) {
    EXPECT_EQ(server_->Stop(), 0) << server_->output();
  }
  delete server_;
  server_ = nullptr;
  delete dir_;
  dir_ = nullptr;
}

void TenantServerTest::Auth(grpc::ClientContext* context, const char* token) {
  if (token != nullptr) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

}  // namespace cosmo::testing
