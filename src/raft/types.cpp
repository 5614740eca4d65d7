#include "raft/types.h"

#include <algorithm>

namespace raftkv {

const char* to_string(Op op) {
  switch (op) {
    case Op::Put: return "put";
    case Op::Get: return "get";
    case Op::Delete: return "delete";
    case Op::Noop: return "noop";
    case Op::Config: return "config";
  }
  return "?";
}

const char* to_string(ChangeAction action) {
  return action == ChangeAction::Add ? "add" : "remove";
}

const Membership& MembershipBox::empty() {
  static const Membership kNone;
  return kNone;
}

bool Membership::is_voter(int id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}

bool Membership::is_member(int id) const {
  return is_voter(id) || std::binary_search(learners.begin(), learners.end(), id);
}

const char* to_string(Status status) {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::KeyExists: return "key_exists";
    case Status::NotFound: return "not_found";
    case Status::NotLeader: return "not_leader";
    case Status::Unknown: return "unknown";
    case Status::Stale: return "stale";
  }
  return "?";
}

const char* to_string(Role role) {
  switch (role) {
    case Role::Follower: return "follower";
    case Role::Candidate: return "candidate";
    case Role::Leader: return "leader";
  }
  return "?";
}

const char* to_string(MsgType type) {
  switch (type) {
    case MsgType::RequestVote: return "RequestVote";
    case MsgType::RequestVoteResponse: return "RequestVoteResponse";
    case MsgType::PreVote: return "PreVote";
    case MsgType::PreVoteResponse: return "PreVoteResponse";
    case MsgType::ReadConfirm: return "ReadConfirm";
    case MsgType::ReadConfirmResponse: return "ReadConfirmResponse";
    case MsgType::TimeoutNow: return "TimeoutNow";
    case MsgType::InstallSnapshot: return "InstallSnapshot";
    case MsgType::InstallSnapshotResponse: return "InstallSnapshotResponse";
    case MsgType::AppendEntries: return "AppendEntries";
    case MsgType::AppendEntriesResponse: return "AppendEntriesResponse";
    case MsgType::CommitNotification: return "CommitNotification";
    case MsgType::ClientRequest: return "ClientRequest";
    case MsgType::ClientReply: return "ClientReply";
  }
  return "?";
}

}  // namespace raftkv
