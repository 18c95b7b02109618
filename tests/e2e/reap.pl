#!/usr/bin/perl
# reap.pl <status-file> <command> [args...]
#
# Runs <command> as the child of a child subreaper (PR_SET_CHILD_SUBREAPER) and records
# the exit status of every *other* process it reaps as one "<pid> <status>" line in
# <status-file> (status = exit code, or 128+signal). Exits with <command>'s status.
#
# Why: `urunc create` parks the container's init and exits, so the init (later the VMM)
# is orphaned. Under a subreaper it is re-parented here instead of to PID 1, which is how
# containerd's shim learns the container's exit status; the tests do the same.
use strict;
use warnings;
use POSIX ();

die "usage: reap.pl <status-file> <command> [args...]\n" if @ARGV < 2;
my $file = shift @ARGV;

my $nr = eval { require 'syscall.ph'; &SYS_prctl() };
$nr //= { 'x86_64' => 157, 'aarch64' => 167 }->{(POSIX::uname())[4]};
die "reap.pl: unknown prctl syscall number on this architecture\n" unless defined $nr;
my $PR_SET_CHILD_SUBREAPER = 36;
syscall($nr, $PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
  or die "reap.pl: prctl(PR_SET_CHILD_SUBREAPER): $!\n";

my $child = fork() // die "reap.pl: fork: $!\n";
if ($child == 0) {
	exec { $ARGV[0] } @ARGV or die "reap.pl: exec `$ARGV[0]`: $!\n";
}
# timeout(1) signals us, not the command: pass it on so its cleanup traps run.
$SIG{$_} = sub { kill $_[0], $child } for qw(TERM INT HUP);

sub code { my $s = shift; ($s & 127) ? 128 + ($s & 127) : $s >> 8 }

while (1) {
	my $pid = waitpid(-1, 0);
	if ($pid < 0) {
		next if $!{EINTR};
		die "reap.pl: waitpid: $!\n";
	}
	my $status = code($?);
	exit $status if $pid == $child;
	open(my $fh, '>>', $file) or die "reap.pl: open `$file`: $!\n";
	print $fh "$pid $status\n";
	close($fh) or die "reap.pl: write `$file`: $!\n";
}
