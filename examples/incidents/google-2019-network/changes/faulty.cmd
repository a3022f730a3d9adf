# The same maintenance event as the automation ran it: a bug let it take
# every cluster eligible for this type of event, in every data centre of
# both regions, instead of the one in scope.
drain links maintenance=eligible
