// The exception class libdl_cxxplugin.so throws (its key function, hence
// its typeinfo, is in the plugin): the program catches it by the typeinfo
// it gets from the plugin at run time.
#ifndef GLIBC_DLOPEN_CXX_PLUGIN_H
#define GLIBC_DLOPEN_CXX_PLUGIN_H
#include <stdexcept>

class PluginError : public std::runtime_error {
public:
    explicit PluginError(int code);
    ~PluginError() override;
    int code() const noexcept;

private:
    int code_;
};
#endif
